-- XKS identities get namespaces of their own. Grants written for an AWS principal (an
-- ARN, a service principal such as dynamodb.amazonaws.com, or "AWS Internal") move to
-- `aws-principal:<value>`; a grant to `<service>.amazonaws.com`, which matched the
-- request's kmsViaService as well, also becomes `aws-service:<service>.amazonaws.com`.
-- Such a grant no longer applies to a hyok user of the same name.
INSERT INTO grants (object_uid, identity, operation, granted_by, created_at)
SELECT object_uid, 'aws-principal:' || identity, operation, granted_by, created_at
FROM grants
WHERE identity LIKE 'arn:%' OR identity LIKE '%.amazonaws.com' OR identity = 'AWS Internal'
ON CONFLICT DO NOTHING;

INSERT INTO grants (object_uid, identity, operation, granted_by, created_at)
SELECT object_uid, 'aws-service:' || identity, operation, granted_by, created_at
FROM grants
WHERE identity LIKE '%.amazonaws.com' AND identity NOT LIKE 'aws-principal:%'
ON CONFLICT DO NOTHING;

DELETE FROM grants
WHERE identity NOT LIKE 'aws-principal:%' AND identity NOT LIKE 'aws-service:%'
  AND (identity LIKE 'arn:%' OR identity LIKE '%.amazonaws.com' OR identity = 'AWS Internal');
