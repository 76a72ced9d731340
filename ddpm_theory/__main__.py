from ddpm_theory.cli import main

raise SystemExit(main())
