"""What runs on the robot. Installed as ``lkbuild.runtime_stubs``; copied into every build."""
