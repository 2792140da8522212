import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Loader2, Minus, Plus, ShoppingCart, Trash2 } from "lucide-react";
import { type FormEvent, useMemo, useRef, useState } from "react";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";
import { ApiError, orderQuery, placeOrder } from "@/lib/api";
import { formatCents } from "@/lib/format";
import { CheckoutAttempts } from "@/lib/idempotency";
import { MAX_QUANTITY, type MenuItem, type Order, formErrors, orderFormSchema } from "@/lib/schemas";
import { type Cart, cartTotalCents } from "./useCart";

interface CheckoutProps {
  menu: MenuItem[];
  cart: Cart;
  onPlaced: (order: Order) => void;
  attempts?: CheckoutAttempts;
}

type TextField = "customer.name" | "customer.address" | "customer.phone" | "customer.email" | "note";

const FIELDS: { name: TextField; label: string; autoComplete?: string; optional?: boolean; type?: string }[] = [
  { name: "customer.name", label: "Name", autoComplete: "name" },
  { name: "customer.address", label: "Delivery address", autoComplete: "street-address" },
  { name: "customer.phone", label: "Phone", autoComplete: "tel", optional: true, type: "tel" },
  { name: "customer.email", label: "Email", autoComplete: "email", optional: true, type: "email" },
];

const fieldId = (name: string) => `field-${name.replace(/[^a-z0-9]+/gi, "-")}`;

function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p id={id} className="text-sm font-medium text-destructive">
      {message}
    </p>
  );
}

/** The cart and the order form: validates as you go and places the order once per attempt. */
export function Checkout({ menu, cart, onPlaced, attempts: givenAttempts }: CheckoutProps) {
  const attempts = useMemo(() => givenAttempts ?? new CheckoutAttempts(), [givenAttempts]);
  const [values, setValues] = useState<Record<TextField, string>>({
    "customer.name": "",
    "customer.address": "",
    "customer.phone": "",
    "customer.email": "",
    note: "",
  });
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const bySku = useMemo(() => new Map(menu.map((item) => [item.sku, item])), [menu]);

  const formValue = {
    customer: {
      name: values["customer.name"],
      address: values["customer.address"],
      phone: values["customer.phone"],
      email: values["customer.email"],
    },
    items: cart.lines.map((line) => ({ sku: line.sku, quantity: line.quantity })),
    note: values.note,
  };
  const parsed = orderFormSchema.safeParse(formValue);
  const clientErrors = parsed.success ? {} : formErrors(parsed.error);

  const queryClient = useQueryClient();
  const mutation = useMutation({
    mutationFn: (body: unknown) => {
      const key = attempts.keyFor(body);
      return placeOrder(body as Parameters<typeof placeOrder>[0], key);
    },
    onSuccess: ({ order }) => {
      // The tracking page starts from the order as placed, so it follows the saga live from
      // its first step even when the saga ends before the page could fetch the order.
      queryClient.setQueryData(orderQuery(order.order_id).queryKey, order);
      attempts.finish();
      cart.clear();
      onPlaced(order);
    },
  });
  const serverError = mutation.error instanceof ApiError ? mutation.error : null;

  const shown = (name: string): string | undefined => {
    if (serverError?.field === name) return serverError.message;
    return submitted || touched.has(name) ? clientErrors[name] : undefined;
  };

  // Leaving a field for the submit button shows nothing yet: a message appearing on blur would
  // move the button away between mouse down and up, and the submit then shows every message.
  const touch = (name: string, next: EventTarget | null) => {
    if (next instanceof HTMLElement && next.getAttribute("type") === "submit") return;
    setTouched((t) => new Set(t).add(name));
  };

  const change = (name: TextField, value: string) => {
    setValues((current) => ({ ...current, [name]: value }));
    if (mutation.isError) mutation.reset();
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (mutation.isPending) return;
    if (!parsed.success) {
      const first = Object.keys(clientErrors)[0];
      if (first) formRef.current?.querySelector<HTMLElement>(`#${fieldId(first)}`)?.focus();
      return;
    }
    mutation.mutate(parsed.data);
  };

  const total = cartTotalCents(cart.lines, menu);
  const itemsError = submitted ? clientErrors.items : undefined;

  return (
    <Card>
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <ShoppingCart className="size-5" aria-hidden="true" /> Your order
        </CardTitle>
      </CardHeader>
      <CardContent>
        <form ref={formRef} noValidate onSubmit={submit} aria-label="Checkout" className="space-y-4">
          {cart.lines.length === 0 ? (
            <p className="rounded-md border border-dashed p-4 text-center text-sm text-muted-foreground">
              Your cart is empty. Add something from the menu.
            </p>
          ) : (
            <ul className="divide-y" aria-label="Cart">
              {cart.lines.map((line, index) => {
                const item = bySku.get(line.sku);
                const name = item?.name ?? line.sku;
                const qtyField = `items[${index}].quantity`;
                const skuError = shown(`items[${index}].sku`) ?? (item?.sold_out ? "Sold out now — remove it to order" : undefined);
                const qtyError = shown(qtyField);
                const errorId = `${fieldId(qtyField)}-error`;
                return (
                  <li key={line.sku} className="py-2" data-sku={line.sku}>
                    <div className="flex items-center gap-2">
                      <span className="flex-1 text-sm font-medium">{name}</span>
                      <Button
                        size="icon"
                        variant="ghost"
                        aria-label={`One less ${name}`}
                        disabled={line.quantity <= 1}
                        onClick={() => cart.setQuantity(line.sku, Math.max(1, line.quantity - 1))}
                      >
                        <Minus aria-hidden="true" />
                      </Button>
                      <Label htmlFor={fieldId(qtyField)} className="sr-only">
                        Quantity of {name}
                      </Label>
                      <Input
                        id={fieldId(qtyField)}
                        type="number"
                        inputMode="numeric"
                        min={1}
                        max={MAX_QUANTITY}
                        className="h-8 w-16 text-center"
                        value={Number.isNaN(line.quantity) ? "" : line.quantity}
                        aria-invalid={qtyError || skuError ? true : undefined}
                        aria-describedby={qtyError || skuError ? errorId : undefined}
                        onChange={(e) => {
                          cart.setQuantity(line.sku, e.target.value === "" ? Number.NaN : Number(e.target.value));
                          if (mutation.isError) mutation.reset();
                        }}
                        onBlur={(e) => touch(qtyField, e.relatedTarget)}
                      />
                      <Button
                        size="icon"
                        variant="ghost"
                        aria-label={`One more ${name}`}
                        disabled={line.quantity >= MAX_QUANTITY}
                        onClick={() => cart.setQuantity(line.sku, Math.min(MAX_QUANTITY, (line.quantity || 0) + 1))}
                      >
                        <Plus aria-hidden="true" />
                      </Button>
                      <Button
                        size="icon"
                        variant="ghost"
                        aria-label={`Remove ${name}`}
                        onClick={() => {
                          cart.remove(line.sku);
                          if (mutation.isError) mutation.reset();
                        }}
                      >
                        <Trash2 aria-hidden="true" />
                      </Button>
                    </div>
                    <FieldError id={errorId} message={qtyError ?? skuError} />
                    {!qtyError && !skuError && item && line.quantity > item.stock && (
                      <p className="text-sm text-warning">Only {item.stock} left: more than that cannot be delivered.</p>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
          {itemsError && <p className="text-sm font-medium text-destructive">{itemsError}</p>}
          <div className="flex items-center justify-between border-t pt-3 font-semibold">
            <span>Total</span>
            <span className="tabular-nums" aria-label="Order total">
              {formatCents(total)}
            </span>
          </div>

          {FIELDS.map((field) => {
            const error = shown(field.name);
            const id = fieldId(field.name);
            return (
              <div key={field.name} className="space-y-1.5">
                <Label htmlFor={id}>
                  {field.label}
                  {field.optional && <span className="font-normal text-muted-foreground"> (optional)</span>}
                </Label>
                <Input
                  id={id}
                  name={field.name}
                  type={field.type ?? "text"}
                  autoComplete={field.autoComplete}
                  required={!field.optional}
                  value={values[field.name]}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={error ? `${id}-error` : undefined}
                  onChange={(e) => change(field.name, e.target.value)}
                  onBlur={(e) => touch(field.name, e.relatedTarget)}
                />
                <FieldError id={`${id}-error`} message={error} />
              </div>
            );
          })}
          <div className="space-y-1.5">
            <Label htmlFor={fieldId("note")}>
              Note for the kitchen <span className="font-normal text-muted-foreground">(optional)</span>
            </Label>
            <Textarea
              id={fieldId("note")}
              name="note"
              value={values.note}
              aria-invalid={shown("note") ? true : undefined}
              aria-describedby={shown("note") ? `${fieldId("note")}-error` : undefined}
              onChange={(e) => change("note", e.target.value)}
              onBlur={(e) => touch("note", e.relatedTarget)}
            />
            <FieldError id={`${fieldId("note")}-error`} message={shown("note")} />
          </div>

          {serverError && (
            <Alert variant="destructive" data-testid="order-error">
              <AlertTitle>Order not placed</AlertTitle>
              <AlertDescription>
                <p>{serverError.message}</p>
                {serverError.field && (
                  <p className="mt-1 text-xs">
                    Field: <code className="font-mono">{serverError.field}</code>
                  </p>
                )}
                {(serverError.status === 0 || serverError.status >= 500) && (
                  <p className="mt-1 text-xs">Try again: a retry cannot place the order twice.</p>
                )}
              </AlertDescription>
            </Alert>
          )}

          <Button type="submit" size="lg" className="w-full" aria-disabled={mutation.isPending} disabled={mutation.isPending}>
            {mutation.isPending && <Loader2 className="animate-spin" aria-hidden="true" />}
            {mutation.isPending ? "Placing order…" : `Place order · ${formatCents(total)}`}
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}
