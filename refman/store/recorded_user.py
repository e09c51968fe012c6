"""Who a store's writes are recorded as: shared by both backends' bases."""

from __future__ import annotations


class RecordedUser:
    """The `user` of a store: refman.config.user_name unless set, asked on the first write that records it, so
    that read-only commands never read the settings file for it."""

    _user: str | None = None

    @property
    def user(self) -> str:
        if self._user is None:
            from refman.config import user_name

            self._user = user_name()
        return self._user

    @user.setter
    def user(self, name: str) -> None:
        self._user = name
