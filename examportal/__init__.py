"""examportal: the validation exam and certification portal for ZSK qualification 13881."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from sandbox_crm.params import IdConverter

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: str | type | dict | None = None) -> Flask:
    """The application factory.

    ``config`` is a config name ("development", "test", "production"), a config
    class, or a mapping of overrides applied on top of the environment's config.
    """
    from .config import CONFIGS
    from .portal import Portal

    app = Portal(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
        instance_path=str(ROOT / "instance"),
    )
    overrides = {}
    if isinstance(config, dict):
        overrides, config = config, None
    if config is None:
        config = os.environ.get("EXAMPORTAL_CONFIG", "development")
    config_class = CONFIGS[config] if isinstance(config, str) else config
    if hasattr(config_class, "check"):
        config_class.check()
    app.config.from_object(config_class)
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from . import logging_setup, metrics

    # First, so every request gets its id and its timer before any other hook can answer it.
    logging_setup.init_app(app)
    metrics.init_app(app)
    # Then the autosave's express lane, ahead of the extensions' hooks it stands in for.
    from .theory import express

    express.init_app(app)
    if app.config.get("TRUSTED_PROXIES"):
        # Outermost, so the autosave's lane (middleware too) sees the client's address and scheme.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]  # Flask's way to add middleware
    _init_extensions(app)
    # Before any rule is added: <int:...> stops at the largest id a column holds, so a longer
    # number in a URL is a 404 instead of an overflow in the database driver (a 500).
    app.url_map.converters["int"] = IdConverter
    _register_blueprints(app)

    from . import cli, errors, i18n, jobs, sandbox_host, security
    from .theory import lockdown

    sandbox_host.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    lockdown.init_app(app)
    jobs.init_app(app)
    cli.init_app(app)
    return app


def _init_extensions(app: Flask) -> None:
    import sandbox_crm.models  # noqa: F401  (the sandbox's tables live in the same database)

    from . import models  # noqa: F401  (registers the tables)
    from .extensions import csrf, db, limiter, login_manager, migrate
    from .session_cookie import ChangedOnlySessionInterface

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    app.session_interface = ChangedOnlySessionInterface()

    @login_manager.user_loader
    def load_user(user_id: str):
        from .forms import parse_id
        from .theory import lockdown

        user_pk = parse_id(user_id)
        # With the roles and the running test in the same query: every request checks them.
        return lockdown.load_user(user_pk) if user_pk is not None else None


def _register_blueprints(app: Flask) -> None:
    from .appeals.views import bp as appeals_bp
    from .applications.views import bp as applications_bp
    from .audit.views import bp as audit_bp
    from .auth.views import bp as auth_bp
    from .certification.views import bp as certification_bp
    from .certification.views import verify_bp
    from .checkin.views import bp as checkin_bp
    from .committee.views import bp as committee_bp
    from .competence.views import bp as competence_bp
    from .complaints.views import bp as complaints_bp
    from .credentials.views import bp as credentials_bp
    from .institution.views import bp as institution_bp
    from .mail.views import bp as mail_bp
    from .main.views import bp as main_bp
    from .operator.views import bp as operator_bp
    from .practical.views import bp as practical_bp
    from .qualifications.views import bp as qualifications_bp
    from .records import bp as records_bp
    from .records import views as _records_views  # noqa: F401  (its routes, on records_bp)
    from .renewals.views import bp as renewals_bp
    from .reports import auditor_views, evaluation_views, zrk_views  # noqa: F401  (their routes, on reports_bp)
    from .reports import bp as reports_bp
    from .sessions.views import bp as sessions_bp
    from .theory.views import bp as theory_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(qualifications_bp, url_prefix="/qualifications")
    app.register_blueprint(sessions_bp, url_prefix="/sessions")
    app.register_blueprint(applications_bp, url_prefix="/applications")
    app.register_blueprint(theory_bp, url_prefix="/theory")
    app.register_blueprint(practical_bp, url_prefix="/practical")
    app.register_blueprint(operator_bp, url_prefix="/operator")
    app.register_blueprint(checkin_bp, url_prefix="/operator")
    app.register_blueprint(audit_bp, url_prefix="/audit")
    app.register_blueprint(institution_bp, url_prefix="/institution")
    app.register_blueprint(committee_bp, url_prefix="/committee")
    app.register_blueprint(competence_bp, url_prefix="/competence")
    app.register_blueprint(mail_bp, url_prefix="/dev/mailbox")
    app.register_blueprint(certification_bp, url_prefix="/certification")
    app.register_blueprint(verify_bp, url_prefix="/verify")
    app.register_blueprint(credentials_bp, url_prefix="/ob")
    app.register_blueprint(appeals_bp, url_prefix="/appeals")
    app.register_blueprint(renewals_bp, url_prefix="/renewals")
    app.register_blueprint(complaints_bp, url_prefix="/complaints")
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(records_bp, url_prefix="/records")
