"""The dashboard's pages, one router each."""
