"""Privacy: user-level DP training, a membership-inference audit, encryption, deletion.

- ``config``: the experiment's ``privacy`` section (no torch).
- ``dpsgd``: DP-SGD through Opacus, the trainer's step hook.
- ``mechanisms``: noisy counts (DP-Pop).
- ``holdout``: the audit's held-out users.
- ``audit``: membership-inference attacks and their AUC.
- ``crypto``: key files and AES-GCM encryption of personal data in run folders.

See ``docs/privacy.md``.
"""

from ssl4rec.privacy.config import PrivacyConfig

__all__ = ["PrivacyConfig"]
