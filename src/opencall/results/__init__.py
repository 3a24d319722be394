"""After the award: post-award records (loans, shipments, berths, observing
sessions, courses, demonstration packages, operator-defined uses) and results
(publications and datasets) of awarded proposals."""
