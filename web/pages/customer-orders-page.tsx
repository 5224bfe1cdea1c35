import type { FC } from "hono/jsx";
import { formatCents } from "../../domain/catalog/money";
import { StatusBadge, when } from "../components";
import { Layout } from "../layout";

/** GET /orders?token=…: every order of one customer, each linking to its own page. */

export interface CustomerOrderView {
  number: string;
  serviceName: string;
  status: string;
  totalCents: number;
  createdAt: Date;
  url: string;
  parentNumber: string | null;
}

export const CustomerOrdersPage: FC<{
  customer: { name: string | null; company: string | null; email: string };
  orders: CustomerOrderView[];
}> = ({ customer, orders }) => (
  <Layout title="Your orders">
    <h1>Your orders</h1>
    <p>
      {customer.name ?? customer.email}
      {customer.company ? `, ${customer.company}` : ""}
    </p>
    {orders.length === 0 ? (
      <p>There are no orders for this address yet.</p>
    ) : (
      <table>
        <thead>
          <tr>
            <th scope="col">Order</th>
            <th scope="col">Service</th>
            <th scope="col">Status</th>
            <th scope="col">Total</th>
            <th scope="col">Placed</th>
          </tr>
        </thead>
        <tbody>
          {orders.map((o) => (
            <tr>
              <td>
                <a href={o.url}>{o.number}</a>
                {o.parentNumber ? ` (government fee for ${o.parentNumber})` : ""}
              </td>
              <td>{o.serviceName}</td>
              <td>
                <StatusBadge status={o.status} />
              </td>
              <td>{formatCents(o.totalCents)}</td>
              <td>{when(o.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </Layout>
);
