-- More specific in the kind than the catch-all wildcard, but still a wildcard path:
-- sorted first, so it wins for S3 buckets.
return {status = "Suspended", message = "bucket " .. obj.metadata.name .. " is managed by hand"}
