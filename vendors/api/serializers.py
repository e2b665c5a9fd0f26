from django.core.validators import RegexValidator
from rest_framework import serializers

from lib.api_fields import RateField, RateOutputField, TextField, WholeNumberField
from lib.money import CURRENCY_CHOICES

from ..models import PayoutFrequency, TaxModel, Vendor, VendorMembership, VendorRole
from ..services import VENDOR_CODE_PATTERN

TAX_MODEL_HELP = (
    "facilitator: the platform collects and remits the tax on the vendor's goods; "
    "seller: the vendor is the seller of record; blank: the tax model of the channel "
    "an order comes from."
)


class VendorSerializer(serializers.ModelSerializer):
    commission_rate = RateOutputField(help_text="Platform commission, a fraction of net sales.")
    # Blank when the vendor has no contact address, so not documented as format email.
    email = serializers.CharField(read_only=True)
    # Blank: the tax model of the channel an order comes from (a string, not the enum).
    tax_model = serializers.CharField(read_only=True, help_text=TAX_MODEL_HELP)

    class Meta:
        model = Vendor
        fields = [
            "code",
            "name",
            "currency",
            "commission_rate",
            "payout_frequency",
            "payout_delay_days",
            "tax_model",
            "email",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class VendorCreateSerializer(serializers.Serializer):
    """A new vendor. (Shape only; the rules live in vendors.services.create_vendor.)"""

    code = TextField(
        max_length=32,
        trim_whitespace=False,
        validators=[
            RegexValidator(VENDOR_CODE_PATTERN, "Use 1-32 letters A-Z or a-z, digits, - or _.")
        ],
        help_text="1-32 letters A-Z or a-z, digits, - or _: it names the vendor in URLs.",
    )
    name = TextField(max_length=200)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, default="EUR")
    commission_rate = RateField(
        default="0.1000", help_text="Platform commission, a fraction of net sales."
    )
    payout_frequency = serializers.ChoiceField(
        choices=PayoutFrequency.choices, default=PayoutFrequency.MONTHLY
    )
    payout_delay_days = WholeNumberField(min_value=0, max_value=365, default=7)
    # No default: a blank default is not an e-mail address (the schema would not validate).
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    tax_model = serializers.ChoiceField(
        choices=TaxModel.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text=TAX_MODEL_HELP,
    )


class VendorUserSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = VendorMembership
        fields = ["username", "email", "role", "created_at"]
        read_only_fields = fields


class VendorUserCreateSerializer(serializers.Serializer):
    username = TextField(max_length=150)
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=VendorRole.choices, default=VendorRole.VIEWER)
