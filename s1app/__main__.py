from s1app.cli import main

main()
