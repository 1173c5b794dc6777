#!/bin/sh
# One-shot MinIO provisioning (service minio-init in docker-compose.yml, image
# minio/mc): the bucket, and an account for the app that can use that bucket and
# nothing else. The root account stays with the operator. Safe to run again: it
# runs on every `docker compose up`.
#
# In production the app creates nothing in the store (storage.init_app creates a
# missing bucket only in development), so this is the only place the bucket is
# made. Incomplete multipart uploads a crashed worker leaves are removed by MinIO
# itself (stale uploads expire after 24 h by default).
set -eu

for value in "$MINIO_ROOT_PASSWORD" "$MINIO_APP_ACCESS_KEY" "$MINIO_APP_SECRET_KEY"; do
    case "$value" in
        *CHANGE-ME*)
            echo "minio-init: a MinIO credential still contains CHANGE-ME from deploy/env.example" >&2
            exit 1
            ;;
    esac
done

mc alias set store http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "store/$INSYN_BUCKET"
# No anonymous access: every file is served through the app, which asks the policy module.
mc anonymous set none "store/$INSYN_BUCKET"

# What storage/s3.py does: HEAD/list the bucket, put (multipart), get, stat,
# copy (quarantine/ -> clean/), delete, abort a failed multipart upload.
cat >/tmp/insyn-app-policy.json <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$INSYN_BUCKET"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                 "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": ["arn:aws:s3:::$INSYN_BUCKET/*"]
    }
  ]
}
EOF
mc admin policy create store insyn-app /tmp/insyn-app-policy.json
mc admin user add store "$MINIO_APP_ACCESS_KEY" "$MINIO_APP_SECRET_KEY"
if ! out=$(mc admin policy attach store insyn-app --user "$MINIO_APP_ACCESS_KEY" 2>&1); then
    case "$out" in
        *already*) ;;  # attached by an earlier run
        *) echo "$out" >&2; exit 1 ;;
    esac
fi
echo "minio-init: bucket $INSYN_BUCKET and account $MINIO_APP_ACCESS_KEY ready"
