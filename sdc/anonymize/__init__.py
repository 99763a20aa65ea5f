"""Treatments: identifiers, recoding, local suppression, optimal generalisation, PRAM, noise."""
