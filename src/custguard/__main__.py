from custguard.cli import main

main()
