"""The prevention pages (patient: `patient_patterns`; pro portal: `pro_patterns`)."""

patient_patterns = []
pro_patterns = []
