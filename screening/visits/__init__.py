"""Patients, their visits and the personal links to each visit's questionnaire.

The logic here knows no Flask: `state` (a visit's screening state), `records` (adding
patients and visits, one validating function for the form, CSV, command and API),
`links` (signed personal links) and `apikeys` (keys for a practice-management system).
"""
