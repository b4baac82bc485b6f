from s2s.cli import console_main

console_main()
