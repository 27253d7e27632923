"""Importers for the clinical case formats the field already uses; each returns (cases, ImportReport)."""
