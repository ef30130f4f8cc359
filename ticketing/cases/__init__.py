"""What happens to a case: filing, officers' moves, sweeps and lookups (services), its
attachments and the files channels hold, its timeline and word search."""
