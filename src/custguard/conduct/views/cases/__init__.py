"""The cases pages of conduct: violation cases and evidence (case_pages), penalties and
rectifications (penalty_pages), fines and contract clauses (fine_pages); what they share
(scoping and plain-language codes) is in common, which the API uses too."""
