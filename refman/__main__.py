from refman.cli import main

main()
