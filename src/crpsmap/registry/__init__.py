"""The clinic registry (the Record pillar): a Django app that stores patient histories.

Nothing outside `crpsmap.cli` imports this package, and nothing in the core imports Django. The one
crossing between registry rows and the core's `PatientHistory` is `histories.py`.
"""
