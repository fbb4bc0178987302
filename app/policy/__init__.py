"""The privacy policy as data: who may read which fields for which purpose."""
