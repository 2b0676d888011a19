-- Reserved for another branch's migration; the lead replaces this file with it at merge.
SELECT 1;
