from fairdebt.cli import main

main()
