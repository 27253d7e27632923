"""grpodx one diagnosis key: text normalisation, ICD-10-CM, diagnosis coding and hedges."""
