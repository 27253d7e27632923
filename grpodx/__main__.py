from grpodx.cli import main

main()
