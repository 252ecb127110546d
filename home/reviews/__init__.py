"""Learners' ratings and short reviews of courses and workshops (the model is
``home.models.Review``): who may review, the creator's reply and hiding, staff removal, and the
rating summary that course and workshop pages (and their JSON-LD) show."""
