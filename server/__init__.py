"""The practice portal: app assembly, accounts, and the practice's own areas."""
