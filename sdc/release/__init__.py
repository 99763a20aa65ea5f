"""The release bundle: outputs, manifest, privacy-budget ledger, atomic writes."""
