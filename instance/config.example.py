# Copy to instance/config.py and change what you need. Environment variables
# SCREENING_<NAME> override these (for example SCREENING_DATABASE_URL).

# DATABASE_URL = "postgresql+psycopg://screening@localhost/screening"
# QUESTIONS_PATH = "/etc/screening/questions.yaml"
# DRAFT_LIFETIME_HOURS = 24
# SECRET_KEY is created in instance/secret_key on first run; set it here only to share
# one key between servers.
