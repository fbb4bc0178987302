"""Privacy policy versions: publication with a notice period, public reads, change notices by
email or SMS, and what each customer was told and agreed to."""
