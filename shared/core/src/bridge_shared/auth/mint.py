"""`bridge-token`: mints a development token for the platform `make up` started.

Example: bridge-token --role hr_regional --regions EMEA,APAC --sub hr-emea-1

The secret, issuer and audience are the running platform's: BRIDGE_JWT_SECRET / BRIDGE_JWT_ISSUER /
BRIDGE_JWT_AUDIENCE when set, else those `make up` wrote to .run/platform.json (BRIDGE_RUN_DIR moves
.run/), else the development defaults. The lifetime is at most the services' maximum
(BRIDGE_JWT_MAX_LIFETIME_SECONDS, default 12 h): a longer --ttl is refused, as the services would
refuse the token.
"""

from __future__ import annotations

import argparse
import os

from bridge_shared.auth.principal import Role
from bridge_shared.auth.tokens import DEFAULT_MAX_LIFETIME_SECONDS, mint_token
from bridge_shared.run_file import running_platform
from bridge_shared.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, DEV_JWT_SECRET


def platform_jwt(env: dict[str, str] | None = None) -> dict[str, str]:
    """The JWT settings of the platform `bridge-up` runs, from its run file; {} when there is none
    or it is stale (a note goes to stderr, and the development settings apply)."""
    jwt = running_platform(env, tool="bridge-token").get("jwt")
    if not isinstance(jwt, dict):
        return {}
    return {k: str(v) for k, v in jwt.items() if k in ("secret", "issuer", "audience") and v}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--role", action="append", choices=[r.value for r in Role], default=None)
    parser.add_argument("--sub", default="dev-hr-admin", help="subject: an employee id or a service name")
    parser.add_argument("--regions", default="", help="comma-separated regions (for hr_regional)")
    parser.add_argument("--name", default=None)
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    args = parser.parse_args()
    max_ttl = int(os.environ.get("BRIDGE_JWT_MAX_LIFETIME_SECONDS", DEFAULT_MAX_LIFETIME_SECONDS))
    if not 0 < args.ttl <= max_ttl:
        parser.error(f"--ttl must be between 1 and {max_ttl} seconds (the services' maximum token lifetime)")
    running = platform_jwt()
    print(
        mint_token(
            secret=os.environ.get("BRIDGE_JWT_SECRET") or running.get("secret", DEV_JWT_SECRET),
            subject=args.sub,
            roles=args.role or [Role.HR_ADMIN.value],
            regions=[r for r in args.regions.split(",") if r],
            issuer=os.environ.get("BRIDGE_JWT_ISSUER") or running.get("issuer", DEFAULT_JWT_ISSUER),
            audience=os.environ.get("BRIDGE_JWT_AUDIENCE") or running.get("audience", DEFAULT_JWT_AUDIENCE),
            name=args.name,
            ttl_seconds=args.ttl,
        )
    )


if __name__ == "__main__":
    main()
