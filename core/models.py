from datetime import date, datetime, time, timedelta

from django.core.exceptions import EmptyResultSet
from django.db import models
from django.utils import timezone

from .errors import ValidationFailed

RETENTION = timedelta(hours=24)


@models.ForeignKey.register_lookup
@models.CharField.register_lookup
class AnyOf(models.lookups.In):
    """`field__any_of=[...]`: IN a list of values, sent to PostgreSQL as one array
    parameter (`= ANY(%s)`) instead of one parameter a value. A search's list of up to
    a thousand customer ids stood three times in its page's statement: quoting them
    cost more than running it. Elsewhere (SQLite) the plain IN."""

    lookup_name = "any_of"

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value():  # a subquery: IN (SELECT ...) as ever
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [value for value in self.rhs if value is not None]
        if not values:
            raise EmptyResultSet
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


def optional_reference(to, *, related_name: str = "+", db_index: bool = True) -> models.ForeignKey:
    """A link to another row that may be absent (null, and blank in forms) and that keeps
    the row it points to: PROTECT, because a record, a ledger entry or the audit trail
    must never lose what it refers to, nor be deleted along with it. `db_index=False`
    where an index of the model's own leads with the column already."""
    return models.ForeignKey(
        to,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name=related_name,
        db_index=db_index,
    )


def newest_first_index(*leading: str, name: str) -> models.Index:
    """The index of a list read newest first and paged by (created_at, id), the order of
    core.paging.keyset_page: the columns the list is filtered on (its merchant, ...),
    then -created_at, -id, so a page is one range of the index whatever the table size."""
    return models.Index(fields=[*leading, "-created_at", "-id"], name=name)


class FormSubmissionQuerySet(models.QuerySet):
    def purge_expired(self, *, now=None) -> int:
        """Forget submissions older than RETENTION; answers how many."""
        deleted, _ = self.filter(created_at__lt=(now or timezone.now()) - RETENTION).delete()
        return deleted


class FormSubmission(models.Model):
    """The claim on one dashboard form's one-use token (core.forms.FormToken): the
    unique key decides which of two submissions of the same form acts; the outcome is
    what the first one made, answered again to the second."""

    key = models.CharField(max_length=255, unique=True)
    outcome = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = FormSubmissionQuerySet.as_manager()

    def __str__(self) -> str:
        return self.key


class MerchantQuerySet(models.QuerySet):
    """Rows that belong to one merchant: every read of them starts here, so a foreign
    id is never found (SPEC 1)."""

    def for_merchant(self, merchant):
        return self.filter(merchant=merchant)

    def created_between(self, first_day: date | None = None, last_day: date | None = None):
        """Rows created on these days, both included, in the site's time zone. Compared
        as instants (not created_at::date), so the newest-first index still serves it."""
        if first_day and last_day and first_day > last_day:
            raise ValidationFailed(
                "The created-from day comes after the created-to day", param="createdFrom"
            )
        rows = self
        if first_day:
            rows = rows.filter(created_at__gte=_start_of(first_day))
        if last_day and last_day < date.max:
            rows = rows.filter(created_at__lt=_start_of(last_day + timedelta(days=1)))
        return rows


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
