"""Write services (HackSoft style): keyword-only arguments, named `<entity>_<action>`."""
