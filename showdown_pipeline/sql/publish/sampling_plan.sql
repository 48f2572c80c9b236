-- The sampling plan overall_ratings wrote for this run's cut (core/sampling_plan.py), heaviest pair first.
SELECT model_left, model_right, weight, reason
FROM sampling_plan
ORDER BY weight DESC, model_left, model_right
