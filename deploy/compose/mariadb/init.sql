-- Run once by the mariadb image at first start, in the database MARIADB_DATABASE (shop).
CREATE TABLE orders (
  id INT AUTO_INCREMENT PRIMARY KEY,
  customer INT NOT NULL,
  item VARCHAR(64) NOT NULL,
  price DECIMAL(10, 2) NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO orders (customer, item, price)
  SELECT seq % 100, ELT(1 + seq % 3, 'headset', 'webcam', 'microphone'), 10 + seq % 120
  FROM seq_1_to_20000;
