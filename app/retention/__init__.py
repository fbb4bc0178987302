"""Retention: the schedule of how long each data category is kept, the job that ends it, and
legal holds that keep data past its end."""
