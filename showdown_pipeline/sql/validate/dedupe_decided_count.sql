-- Records whose dedupe outcome this run decided.
SELECT count(*) AS n FROM dedupe_decided
