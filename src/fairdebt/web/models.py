import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only a hash is stored; the key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="default")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @classmethod
    def issue(cls, user, name: str = "default") -> tuple["ApiToken", str]:
        key = "fd_" + secrets.token_urlsafe(32)
        return cls.objects.create(user=user, name=name, key_hash=_hash(key)), key

    @classmethod
    def authenticate(cls, key: str):
        token = (
            cls.objects.select_related("user")
            .filter(key_hash=_hash(key), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if token:
            cls.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
            return token.user
        return None
