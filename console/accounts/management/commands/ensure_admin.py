"""Create the first platform admin when there is none, and say how to sign in."""

from __future__ import annotations

import os
import secrets
import sys
from getpass import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from console.accounts.services import create_user


class Command(BaseCommand):
    help = "Create the first admin account (once). Prompts when a terminal is attached."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(is_staff=True).exists():
            return
        username = os.environ.get("KILN_ADMIN_USERNAME", "admin")
        password = os.environ.get("KILN_ADMIN_PASSWORD", "")
        email = os.environ.get("KILN_ADMIN_EMAIL", "admin@localhost")
        interactive = sys.stdin.isatty() and not password
        if interactive:
            self.stdout.write("No admin account yet; let's create one.")
            username = input(f"Username [{username}]: ").strip() or username
            while True:
                password = getpass("Password (leave empty to generate one): ")
                if not password:
                    break
                if password == getpass("Password again: "):
                    break
                self.stdout.write("The passwords differ; try again.")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        create_user(username=username, email=email, password=password, is_staff=True)
        line = "=" * 60
        self.stdout.write(line)
        self.stdout.write(f"Admin account created. Sign in as: {username}")
        if generated:
            self.stdout.write(f"Password (shown once, change it after signing in): {password}")
        self.stdout.write(line)
