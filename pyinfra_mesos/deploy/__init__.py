"""The boundary to pyinfra: every module here imports pyinfra to define facts and operations.

Everything outside this package is decided without a host and never imports pyinfra
(tests/unit/test_pure_modules.py), except through `refused.DeployRefused`, the one exception a
pure decision raises. Nothing is imported here, so importing `deploy.refused` loads no glue.
"""
