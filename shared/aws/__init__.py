"""The only modules that talk to AWS (boto3). Everything above them takes and returns models."""
