-- A message SES stored in S3 is kept as a reference to its object (issue 22 item 2): the
-- bytes stay in S3 and `bytes` is empty.
ALTER TABLE raw_messages ADD COLUMN s3_location TEXT;
