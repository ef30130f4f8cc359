"""Figures counted in SQL for the dashboard and the standard reports, and the tables officers
take away (CSV, Excel, PDF with Devanagari fonts)."""
