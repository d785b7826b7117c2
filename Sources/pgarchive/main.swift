print("pgarchive")
