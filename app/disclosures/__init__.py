"""Legal disclosures to authorities, and telling the customer when the law allows."""
