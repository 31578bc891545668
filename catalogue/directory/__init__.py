"""The public directory of referenced services, the patients' reports and the referencing
staff's admin (issue 14, "The catalogue")."""
