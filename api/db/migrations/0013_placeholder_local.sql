-- Local placeholder for another branch's 0013 (not committed).
SELECT 1;
