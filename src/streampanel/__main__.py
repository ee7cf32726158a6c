from streampanel.cli import main

main()
