from opencall.cli import main

main()
